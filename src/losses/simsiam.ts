/** losses/simsiam */
export {};
