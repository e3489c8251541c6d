/** encoders */
export {};
