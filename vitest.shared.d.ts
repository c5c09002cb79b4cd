export declare const sharedConfig: import("vite").UserConfig;
