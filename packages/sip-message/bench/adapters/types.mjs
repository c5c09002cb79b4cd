// The shape every adapter returns (JSDoc only, for editors; nothing runs here).

/**
 * What a proxy reads from a message; every adapter fills the same record so that the
 * correctness guard can compare them.
 * @typedef {object} ProxyFields
 * @property {string | undefined} branch      top Via branch
 * @property {string | undefined} fromTag
 * @property {string | undefined} toTag
 * @property {string | undefined} callId
 * @property {number | undefined} cseq        CSeq number
 * @property {string | undefined} method      CSeq method
 * @property {number | undefined} maxForwards
 * @property {number} routes                  number of Route values
 * @property {unknown} routeUri               something read from the top Route's URI
 * @property {unknown} contact                first Contact URI (string or the library's URI object)
 * @property {string | undefined} ruriHost    Request-URI host (requests)
 */

/**
 * @typedef {object} Adapter
 * @property {string} id           short id used on the command line
 * @property {string} name         package name and version
 * @property {'Buffer' | 'string'} input  what parse() is fed
 * @property {boolean} serializes  false when the library cannot serialize an edited message
 * @property {(bytes: Buffer) => any} prepare  turns the corpus bytes into the input (not timed)
 * @property {(input: any) => any} parse
 * @property {(message: any, out: ProxyFields) => void} read
 * @property {((message: any, out: ProxyFields) => Uint8Array) | null} forward
 *   proxy edits (Via and Record-Route on top, Max-Forwards - 1, top Route removed; for a
 *   response the top Via removed) then serialize to bytes; null when not possible
 */

export {};
