/** Dimension legend and rank-typed aliases (core helper). */
export {};
