// @sipway/proxy — public entry. See README.md.
export {};
