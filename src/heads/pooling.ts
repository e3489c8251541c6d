/** heads/pooling */
export {};
