/**
 * The API's tag grammar (spec §3.3), as strict as registries are about names: `/`-separated
 * segments of letters, digits, '.', '_' and '-', each starting with a letter or digit (so no '.'
 * or '..' segment), then optionally ':' and a version starting with a letter, digit or '_'; never
 * ending in '.'; at most 255 characters. For example 'common/python-ml/python:3.11-slim'.
 */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]*)?$/

export const MAX_TAG_LENGTH = 255

export const isValidTag = (tag: string): boolean => tag.length <= MAX_TAG_LENGTH && TAG.test(tag) && !tag.endsWith(".")

/** What a refused tag must be, for error messages. */
export const TAG_RULE = "'/'-separated names of letters, digits, '.', '_' or '-' that start with a letter or digit, " +
  "optionally ':version', not ending in '.', at most 255 characters (e.g. 'common/python-ml/python:3.11-slim')"
