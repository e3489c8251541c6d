/** losses/balanced-softmax */
export {};
