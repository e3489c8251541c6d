/** heads/context-pooling */
export {};
