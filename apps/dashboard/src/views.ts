import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyDecorators, Header } from '@nestjs/common';
import { Eta } from 'eta';

/**
 * The dashboard's templates (Eta, `views/*.eta`). `<%= %>` escapes everything it prints, in
 * text and attributes alike; the only raw output (`<%~`) is of another template of ours
 * (`include`, `layout`), never of data. Provider and webhook bodies are attacker-controlled:
 * they reach a page only through `<%=`.
 */
export class Views {
  private readonly eta: Eta;

  constructor(views = resolveDashboardDir('views')) {
    this.eta = new Eta({ views, autoEscape: true, cache: true, defaultExtension: '.eta' });
  }

  /** A whole page: the template's HTML inside the layout it names. */
  render(template: string, data: object): string {
    return this.eta.render(template, data);
  }
}

/**
 * Where the dashboard's templates or public assets are: beside the bundle once built
 * (nest-cli copies them to dist/apps/dashboard), else in the sources (tests under ts-jest).
 */
export function resolveDashboardDir(name: 'views' | 'public'): string {
  const candidates = [join(__dirname, name), join(__dirname, '..', 'src', name)];
  const sourceTree = join(process.cwd(), 'apps', 'dashboard', 'src', name);
  const found = [...candidates, sourceTree].find((dir) => existsSync(dir));
  if (!found)
    throw new Error(
      `the dashboard's ${name} folder is missing (looked in ${candidates.join(', ')})`,
    );
  return found;
}

/**
 * A handler that returns a rendered page: HTML, and never cached (the pages show a tenant's
 * data, or the status of now).
 */
export const HtmlPage = () =>
  applyDecorators(
    Header('Cache-Control', 'no-store'),
    Header('Content-Type', 'text/html; charset=utf-8'),
  );
