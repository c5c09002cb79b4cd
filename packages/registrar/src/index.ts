// @sipway/registrar — public entry. See README.md.
export {};
