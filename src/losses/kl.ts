/** losses/kl */
export {};
