// What "our proxy" adds when it forwards a request (RFC 3261 §16.6): its own Via on top and a
// Record-Route. The same constants go to every adapter so that each serializes the same edits.

export const PROXY_VIA_BRANCH = 'z9hG4bK-sipway-bench-7f3a9c21';
export const PROXY_VIA = `SIP/2.0/UDP 198.51.100.1:5060;branch=${PROXY_VIA_BRANCH};rport`;
export const PROXY_RECORD_ROUTE = '<sip:198.51.100.1;lr>';
export const PROXY_RECORD_ROUTE_URI = 'sip:198.51.100.1;lr';

/**
 * Index of the first comma outside quotes and angle brackets in a header value, or -1.
 * Used by adapters whose library keeps list headers as one joined string (drachtio-sip).
 * @param {string} value
 */
export function topLevelComma(value) {
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuotes) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inQuotes = false;
    } else if (c === 34) inQuotes = true;
    else if (c === 60 /* < */) inAngle = true;
    else if (c === 62 /* > */) inAngle = false;
    else if (c === 44 /* , */ && !inAngle) return i;
  }
  return -1;
}
