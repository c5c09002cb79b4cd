// @sipway/receive-chain — public entry. See README.md.
export {};
