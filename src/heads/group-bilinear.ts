/** heads/group-bilinear */
export {};
