// @sipway/registrar/file — the snapshot-file location store. See README.md "Stores".
export { FileLocationStore, parseFileStoreUrl, type FileLocationStoreOptions } from './file-store.js';
export { LocationSnapshotError, type SnapshotProblem } from './snapshot-error.js';
