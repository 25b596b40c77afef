/** How many items of a list from a request (shape dimensions, data values, problems) an error message repeats. */
export const MAX_ECHOED_ITEMS = 16;

/** How many characters of a string from a request (a name, an unknown key) an error message repeats. */
export const MAX_ECHOED_CHARS = 64;

/**
 * A list from a request as an error message shows it: at most `MAX_ECHOED_ITEMS` items, then "…" and the
 * total count. A 100,000-dimension shape or a million-element array must not make a megabyte of message.
 */
export function echoList<T>(items: ArrayLike<T>, render: (item: T) => string = String, separator = ', '): string {
  const shown = Math.min(items.length, MAX_ECHOED_ITEMS);
  let text = '';
  for (let i = 0; i < shown; i++) text += (i === 0 ? '' : separator) + render(items[i] as T);
  return shown === items.length ? text : `${text}${separator}… (${items.length} in all)`;
}

/** A string from a request as an error message shows it: at most `maxChars` characters, then "…". */
export function echoText(text: string, maxChars = MAX_ECHOED_CHARS): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
