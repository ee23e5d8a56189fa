/** The AWS query protocol (EC2, STS): form-encoded requests, XML answers. */

export function parseForm(body: Buffer): Map<string, string> {
  return new Map(new URLSearchParams(body.toString('utf8')).entries());
}

/** `Prefix.1`, `Prefix.2`, … as a list, stopping at the first gap. */
export function listParam(form: Map<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => escapes[c]!);

/** A value tree as XML elements: objects become children, arrays become `<item>`s, the rest text. */
export type XmlValue = string | number | boolean | XmlValue[] | { [key: string]: XmlValue | undefined };

export function toXml(value: XmlValue): string {
  if (Array.isArray(value)) return value.map((item) => `<item>${toXml(item)}</item>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, child]) => child !== undefined)
      .map(([key, child]) => `<${key}>${toXml(child!)}</${key}>`)
      .join('');
  }
  return escapeXml(String(value));
}

export function xmlDocument(root: string, namespace: string, body: XmlValue): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${toXml(body)}</${root}>`;
}
