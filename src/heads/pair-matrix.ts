/** heads/pair-matrix */
export {};
