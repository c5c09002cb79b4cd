// @sipway/contact-rewriter — public entry. See README.md.
export {};
