// iptkit's public API.
export * from './rules/model.js';
export { NetfilterError, ConflictError, ParseError } from './errors.js';
