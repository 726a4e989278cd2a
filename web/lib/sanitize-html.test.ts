// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { cssLoadsExternally, sanitizeHtml } from './sanitize-html.ts';

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const clean = (html: string) => sanitizeHtml(html)!;

// each would make the viewer's browser ask evil.example (or a relative URL) for something
const hostile = [
  '<div style="background:url(https://evil.example/a.png)">x</div>',
  '<div style="background-image: url(\'//evil.example/a.png\')">x</div>',
  '<div style="background: URL( &quot;https://evil.example/a.png&quot; ) red">x</div>',
  '<div style="background:u\\72l(https://evil.example/a.png)">x</div>',
  '<div style="background-image:image-set(\'https://evil.example/a.png\' 1x)">x</div>',
  '<div style="background-image:-webkit-image-set(url(https://evil.example/a.png) 1x)">x</div>',
  '<div style="cursor:url(https://evil.example/c.cur), auto">x</div>',
  '<div style="list-style:url(https://evil.example/l.png)">x</div>',
  '<div style="border-image:url(https://evil.example/b.png) 30">x</div>',
  '<div style="mask-image:url(https://evil.example/m.svg)">x</div>',
  '<div style="--x:url(https://evil.example/v.png);background:var(--x)">x</div>',
  '<div style="background:url(/api/whatever)">x</div>',
  '<style>@import url(https://evil.example/s.css); body{background:url(https://evil.example/b.png)}</style><p>x</p>',
  '<svg><style>@import "https://evil.example/s.css";</style></svg><p>x</p>',
  '<img src="https://evil.example/a.png">',
  '<img src="//evil.example/a.png">',
  '<img src="plot.png">',
  '<img srcset="https://evil.example/a.png 1x, https://evil.example/b.png 2x">',
  `<picture><source srcset="https://evil.example/a.webp"><img src="${PNG}"></picture>`,
  '<video poster="https://evil.example/p.png" src="https://evil.example/v.mp4"></video>',
  '<audio src="https://evil.example/a.mp3" autoplay></audio>',
  '<video><source src="https://evil.example/v.mp4"><track src="https://evil.example/t.vtt"></video>',
  '<table background="https://evil.example/t.png"><tr><td background="https://evil.example/td.png">x</td></tr></table>',
  '<a href="https://example.org/" ping="https://evil.example/ping">link</a>',
  '<svg><image href="https://evil.example/i.png"/></svg>',
  '<svg><image xlink:href="https://evil.example/i.png"/></svg>',
  '<svg><use href="https://evil.example/s.svg#a"/></svg>',
  '<svg><filter id="f"><feImage href="https://evil.example/f.png"/></filter></svg>',
  '<svg><rect fill="url(https://evil.example/p.svg#g)" width="1" height="1"/></svg>',
  '<svg><rect style="filter:url(https://evil.example/f.svg#f)" width="1" height="1"/></svg>',
  '<svg><rect mask="url(//evil.example/m.svg#m)" width="1" height="1"/></svg>',
  '<link rel="stylesheet" href="https://evil.example/s.css"><p>x</p>',
  '<object data="https://evil.example/o.swf"></object><p>x</p>',
  '<iframe src="https://evil.example/"></iframe><p>x</p>',
  '<input type="image" src="https://evil.example/i.png"><p>x</p>',
  '<meta http-equiv="refresh" content="0;url=https://evil.example/"><p>x</p>',
  '<base href="https://evil.example/"><img src="a.png">',
];

describe('sanitizeHtml: nothing loads from elsewhere', () => {
  it.each(hostile)('%s', (html) => {
    const out = clean(html).html;
    expect(out).not.toMatch(/evil\.example|plot\.png|\/api\/whatever|a\.png"/);
  });

  it('says so, so the output is not silently different', () => {
    expect(clean('<img src="https://evil.example/a.png"><p>x</p>').removedExternal).toBe(true);
    expect(clean('<div style="background:url(https://evil.example/a.png)">x</div>').removedExternal).toBe(true);
    expect(clean('<p style="color:red">x</p>').removedExternal).toBe(false);
  });

  it('keeps what shows without fetching: data: images, styles, fragment references, links', () => {
    expect(clean(`<img src="${PNG}" alt="plot">`).html).toContain(`src="${PNG}"`);
    const styled = clean('<table><tr><td style="color: red; background-color: rgb(1, 2, 3); text-align: right">1.5</td></tr></table>').html;
    expect(styled).toMatch(/color: red/);
    expect(styled).toMatch(/background-color: rgb\(1, 2, 3\)/);
    expect(styled).toMatch(/text-align: right/);
    // only the declaration that loads goes; the rest of the style stays
    const mixed = clean('<div style="color: blue; background-image: url(https://evil.example/a.png); padding: 2px">x</div>').html;
    expect(mixed).toMatch(/color: blue/);
    expect(mixed).toMatch(/padding: 2px/);
    expect(mixed).not.toContain('evil.example');
    expect(clean(`<div style="background-image: url('${PNG}')">x</div>`).html).toContain('data:image/png');
    expect(clean('<svg><defs><linearGradient id="g"></linearGradient></defs><rect fill="url(#g)" width="1" height="1"/></svg>').html).toContain('url(#g)');
    const link = clean('<a href="https://example.org/docs">docs</a>').html;
    expect(link).toContain('href="https://example.org/docs"');
    expect(link).toContain('rel="noopener noreferrer nofollow"');
  });

  it('still removes scripts and handlers, and says so', () => {
    const out = clean('<p onclick="alert(1)">x</p><script>alert(1)</script>');
    expect(out.html).toBe('<p>x</p>');
    expect(out.removedActive).toBe(true);
  });
});

describe('cssLoadsExternally', () => {
  it('reads url() in each spelling a CSSOM serialises', () => {
    expect(cssLoadsExternally('url("https://evil.example/a.png")')).toBe(true);
    expect(cssLoadsExternally("url('x.png')")).toBe(true);
    expect(cssLoadsExternally('url(x.png)')).toBe(true);
    expect(cssLoadsExternally('url("data:image/png;base64,AAAA")')).toBe(false);
    expect(cssLoadsExternally('url("#g")')).toBe(false);
    expect(cssLoadsExternally('red')).toBe(false);
    expect(cssLoadsExternally('var(--jp-ui-font-color1)')).toBe(false);
  });
});
