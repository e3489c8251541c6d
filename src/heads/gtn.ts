/** heads/gtn */
export {};
