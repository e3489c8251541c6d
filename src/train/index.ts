/** train */
export {};
