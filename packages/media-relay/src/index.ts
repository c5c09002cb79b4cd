// @sipway/media-relay — public entry. See README.md.
export * from './rtpengine/index.js';
