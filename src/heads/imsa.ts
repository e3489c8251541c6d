/** heads/imsa */
export {};
