/** Replaces every occurrence of a secret in a text; servers and proxies sometimes echo credentials in errors. */
export const redact = (text: string, secret: string | undefined): string =>
  secret === undefined || secret === "" ? text : text.split(secret).join("<redacted>")

/** What an environment variable's value is stored and echoed as when its name looks secret. */
export const REDACTED = "<redacted>"

const SECRET_SUFFIXES = ["token", "secret", "password", "apikey", "credentials", "authorization"]

/**
 * The vendor's rule for environment variables (keys ending in token, secret, password, api_key,
 * credentials or authorization), case-insensitive, with `_` and `-` ignored: `GITHUB_TOKEN`,
 * `OPENAI-API-KEY`, `ApiKey` and `DBPASSWORD` all look secret. Ignoring separators errs towards
 * redacting: a name that merely ends so loses only its echo, never its value in the run.
 */
export const looksSecret = (name: string): boolean => {
  const bare = name.toLowerCase().replace(/[_-]/g, "")
  return SECRET_SUFFIXES.some((suffix) => bare.endsWith(suffix))
}

/** `env` with the values of secret-looking names replaced by `<redacted>`. */
export const redactSecretEnv = <V>(env: Readonly<Record<string, V>>): Record<string, V | typeof REDACTED> =>
  Object.fromEntries(Object.entries(env).map(([name, value]) => [name, looksSecret(name) && value !== null ? REDACTED : value]))
