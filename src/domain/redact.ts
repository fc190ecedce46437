/** Replaces every occurrence of a secret in a text; servers and proxies sometimes echo credentials in errors. */
export const redact = (text: string, secret: string | undefined): string =>
  secret === undefined || secret === "" ? text : text.split(secret).join("<redacted>")
