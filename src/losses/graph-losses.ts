/** losses/graph-losses */
export {};
