/** Multi-head attention primitive (core helper). */
export {};
