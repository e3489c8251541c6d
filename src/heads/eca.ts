/** heads/eca */
export {};
