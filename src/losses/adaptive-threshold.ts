/** losses/adaptive-threshold */
export {};
