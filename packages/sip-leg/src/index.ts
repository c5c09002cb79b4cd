// @sipway/sip-leg — public entry. See README.md.
export {};
