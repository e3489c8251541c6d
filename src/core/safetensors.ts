/** safetensors reader/writer (encoders helper). */
export {};
