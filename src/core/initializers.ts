/** Initializers (core helper). */
export {};
