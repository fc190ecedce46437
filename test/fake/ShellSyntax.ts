/**
 * Parser for the small `sh` subset the fake understands: words with quotes and `$VAR`,
 * `;`/newline, `&&`, `||`, `|`, and redirections `<`, `>`, `>>`, `N>`, `N>&M`.
 * Expansion is deferred to run time (variables may be set by earlier commands).
 */

/** A piece of a word; `expand` is false for single-quoted or backslash-escaped text. */
export interface WordPart {
  readonly text: string
  readonly expand: boolean
}

export type Word = readonly WordPart[]

export type RedirectKind = "read" | "write" | "append" | "dup"

export interface Redirect {
  readonly fd: number
  readonly kind: RedirectKind
  readonly target: Word
}

export interface SimpleCommand {
  readonly words: readonly Word[]
  readonly redirects: readonly Redirect[]
}

export type Pipeline = readonly SimpleCommand[]

export interface AndOrList {
  readonly first: Pipeline
  readonly rest: ReadonlyArray<{ readonly op: "&&" | "||"; readonly pipeline: Pipeline }>
}

export type Script = readonly AndOrList[]

export class ShellSyntaxError extends Error {}

type Token =
  | { readonly kind: "word"; readonly word: Word }
  | { readonly kind: "op"; readonly op: ";" | "&&" | "||" | "|" }
  | { readonly kind: "redirect"; readonly fd: number; readonly redirect: RedirectKind }

const PLAIN_STOP = /[\s;&|<>'"\\]/

const tokenize = (source: string): Token[] => {
  const tokens: Token[] = []
  let parts: WordPart[] = []
  let inWord = false
  const add = (text: string, expand: boolean): void => {
    parts.push({ text, expand })
    inWord = true
  }
  const endWord = (): void => {
    if (inWord) tokens.push({ kind: "word", word: parts })
    parts = []
    inWord = false
  }

  let i = 0
  while (i < source.length) {
    const c = source[i] as string
    const next = source[i + 1]
    if (c === " " || c === "\t") {
      endWord()
      i++
    } else if (c === "\n" || c === ";") {
      endWord()
      tokens.push({ kind: "op", op: ";" })
      i++
    } else if (c === "#" && !inWord) {
      const newline = source.indexOf("\n", i)
      i = newline === -1 ? source.length : newline
    } else if (c === "&") {
      if (next !== "&") throw new ShellSyntaxError("background jobs (&) are not supported")
      endWord()
      tokens.push({ kind: "op", op: "&&" })
      i += 2
    } else if (c === "|") {
      endWord()
      tokens.push({ kind: "op", op: next === "|" ? "||" : "|" })
      i += next === "|" ? 2 : 1
    } else if (c === ">" || c === "<") {
      // A lone unquoted digit right before the operator is its file descriptor (`2>`).
      const only = parts.length === 1 ? parts[0] : undefined
      let fd = c === ">" ? 1 : 0
      if (only?.expand && /^\d$/.test(only.text)) {
        fd = Number(only.text)
        parts = []
        inWord = false
      } else {
        endWord()
      }
      const redirect: RedirectKind = c === "<" ? "read" : next === ">" ? "append" : next === "&" ? "dup" : "write"
      tokens.push({ kind: "redirect", fd, redirect })
      i += redirect === "read" || redirect === "write" ? 1 : 2
    } else if (c === "'") {
      const end = source.indexOf("'", i + 1)
      if (end === -1) throw new ShellSyntaxError("unterminated quoted string")
      add(source.slice(i + 1, end), false)
      i = end + 1
    } else if (c === '"') {
      i = readDoubleQuoted(source, i + 1, add)
    } else if (c === "\\") {
      if (next !== "\n") add(next ?? "", false)
      i += 2
    } else {
      let end = i
      while (end < source.length && !PLAIN_STOP.test(source[end] as string)) end++
      add(source.slice(i, end), true)
      i = end
    }
  }
  endWord()
  return tokens
}

/** Reads up to the closing quote; returns the index after it. `\$`, `\"`, `\\` are literal. */
const readDoubleQuoted = (source: string, start: number, add: (text: string, expand: boolean) => void): number => {
  let text = ""
  let i = start
  add("", false) // `""` is still a (empty) word
  while (i < source.length) {
    const c = source[i] as string
    if (c === '"') {
      add(text, true)
      return i + 1
    }
    if (c === "\\" && '$"\\`'.includes(source[i + 1] ?? "")) {
      add(text, true)
      add(source[i + 1] as string, false)
      text = ""
      i += 2
    } else {
      text += c
      i++
    }
  }
  throw new ShellSyntaxError("unterminated quoted string")
}

const describe = (token: Token | undefined): string =>
  token === undefined ? "end of file" : token.kind === "op" ? `"${token.op}"` : token.kind === "redirect" ? "redirection" : "word"

export const parseScript = (source: string): Script => {
  const tokens = tokenize(source)
  let pos = 0
  const peekOp = (): string | undefined => {
    const token = tokens[pos]
    return token?.kind === "op" ? token.op : undefined
  }

  const parseCommand = (): SimpleCommand => {
    const words: Word[] = []
    const redirects: Redirect[] = []
    for (let token = tokens[pos]; token !== undefined && token.kind !== "op"; token = tokens[pos]) {
      pos++
      if (token.kind === "word") {
        words.push(token.word)
        continue
      }
      const target = tokens[pos]
      if (target?.kind !== "word") throw new ShellSyntaxError(`unexpected ${describe(target)}`)
      redirects.push({ fd: token.fd, kind: token.redirect, target: target.word })
      pos++
    }
    if (words.length === 0 && redirects.length === 0) throw new ShellSyntaxError(`unexpected ${describe(tokens[pos])}`)
    return { words, redirects }
  }

  const parsePipeline = (): Pipeline => {
    const commands = [parseCommand()]
    while (peekOp() === "|") {
      pos++
      commands.push(parseCommand())
    }
    return commands
  }

  const script: AndOrList[] = []
  while (pos < tokens.length) {
    if (peekOp() === ";") {
      pos++
      continue
    }
    const first = parsePipeline()
    const rest: Array<{ op: "&&" | "||"; pipeline: Pipeline }> = []
    for (let op = peekOp(); op === "&&" || op === "||"; op = peekOp()) {
      pos++
      rest.push({ op, pipeline: parsePipeline() })
    }
    script.push({ first, rest })
  }
  return script
}
