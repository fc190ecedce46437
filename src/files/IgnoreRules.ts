import ignore, { type Ignore } from "ignore"

/**
 * The lines of a `.gitignore` found in directory `dir` (relative to the sync root, "" for the
 * root itself), rewritten so they mean the same thing when matched from the root:
 * - a pattern with a slash before its end is anchored to `dir` (`/build` -> `dir/build`);
 * - any other pattern matches at any depth below `dir` (`*.pyc` -> `dir/**` + `/*.pyc`);
 * - `!` and a trailing `/` keep their meaning. Blank lines and comments are dropped.
 * Rewriting lets one matcher hold every file's rules, so a parent directory excluded by one
 * .gitignore and re-included by a deeper one behaves as in git.
 */
export const scopeGitignore = (text: string, dir: string): Array<string> => {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("#"))
  if (dir === "") return lines
  return lines.map((line) => {
    const negated = line.startsWith("!")
    const body = negated ? line.slice(1) : line
    const core = body.replace(/\s+$/, "").replace(/\/$/, "")
    const scoped = core.includes("/") ? `${dir}/${body.replace(/^\//, "")}` : `${dir}/**/${body}`
    return negated ? `!${scoped}` : scoped
  })
}

/**
 * Exclusion rules with `.gitignore` semantics (the `ignore` package, case-sensitive as git is on
 * Linux): a pattern without a slash matches at any depth, `dir/` only matches directories, `!`
 * re-includes, a leading `/` anchors to the root. The `.gitignore` files come first, shallow
 * before deep, and the caller's own patterns last, so they win: `!build/` re-includes a directory
 * a .gitignore excludes. Paths are relative with `/` separators; directories are tested as `dir/`.
 */
export class IgnoreRules {
  private readonly matcher: Ignore | undefined

  private constructor(private readonly gitRules: ReadonlyArray<string>, private readonly userRules: ReadonlyArray<string>) {
    const rules = [...gitRules, ...userRules]
    this.matcher = rules.length === 0 ? undefined : ignore({ ignorecase: false }).add(rules)
  }

  static make(userRules: ReadonlyArray<string>): IgnoreRules {
    return new IgnoreRules([], userRules)
  }

  /** These rules plus those of the `.gitignore` in `dir`. The matcher is rebuilt: user rules must stay last. */
  withGitignore(text: string, dir: string): IgnoreRules {
    const added = scopeGitignore(text, dir)
    return added.length === 0 ? this : new IgnoreRules([...this.gitRules, ...added], this.userRules)
  }

  /** Whether the entry at `path` is excluded. Its parent directories must already have been found not excluded. */
  excludes(path: string, isDirectory: boolean): boolean {
    return this.matcher !== undefined && this.matcher.ignores(isDirectory ? `${path}/` : path)
  }
}
