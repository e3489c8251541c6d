/** cli */
export {};
