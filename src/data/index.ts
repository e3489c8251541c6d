/** data */
export {};
