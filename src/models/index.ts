/** models */
export {};
