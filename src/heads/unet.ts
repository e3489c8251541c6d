/** heads/unet */
export {};
