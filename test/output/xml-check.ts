/**
 * A strict, small XML well-formedness checker for tests (no XML parser is a
 * dependency): one root, balanced and properly nested tags, quoted unique
 * attributes, known entities only, no raw `<` or `&` in text. Returns the
 * element tree so tests can count elements.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][\w:.-]*/;
const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(raw: string, where: string): string {
  const stripped = raw.replace(ENTITY, '');
  if (stripped.includes('&')) throw new Error(`bare & in ${where}: ${raw.slice(0, 80)}`);
  if (stripped.includes('<')) throw new Error(`raw < in ${where}: ${raw.slice(0, 80)}`);
  return raw
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  if (xml.startsWith('<?xml')) {
    i = xml.indexOf('?>') + 2;
    if (i < 2) throw new Error('unterminated XML declaration');
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (stack.length === 0) {
      if (text.trim() !== '') throw new Error(`text outside the root: ${text.slice(0, 40)}`);
    } else {
      stack[stack.length - 1]!.text += decode(text, 'text');
    }
    if (lt === -1) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end === -1) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`closing </${name}> does not match <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = NAME.exec(body);
    if (!nameMatch) throw new Error(`bad tag name in <${tag.slice(0, 40)}>`);
    const el: XmlElement = { name: nameMatch[0], attrs: {}, children: [], text: '' };
    let rest = body.slice(nameMatch[0].length);
    const attr = /^\s+([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/;
    for (;;) {
      const m = attr.exec(rest);
      if (!m) break;
      if (m[1]! in el.attrs) throw new Error(`duplicate attribute ${m[1]} on <${el.name}>`);
      el.attrs[m[1]!] = decode(m[3] ?? m[4] ?? '', `attribute ${m[1]}`);
      rest = rest.slice(m[0].length);
    }
    if (rest.trim() !== '') throw new Error(`malformed attributes on <${el.name}>: ${rest.slice(0, 40)}`);
    if (stack.length === 0) {
      if (root) throw new Error('more than one root element');
      root = el;
    } else {
      stack[stack.length - 1]!.children.push(el);
    }
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element named `name` in the tree, depth first. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = el.name === name ? [el] : [];
  for (const c of el.children) out.push(...findAll(c, name));
  return out;
}
