import { Controller, Get, Header, Inject } from '@nestjs/common';
import { accessBy } from '@herald/platform';
import { HtmlPage, Views } from '../views';
import { StatusService, type StatusReport } from './status.service';
import { statusView } from './status-view';

/**
 * The public status page: no sign-in, no tenant data (StatusService's report holds only
 * components, channels, providers, counts and durations). Never cached: it is live.
 */
@Controller()
@accessBy('public')
export class StatusController {
  constructor(
    @Inject(StatusService) private readonly status: StatusService,
    @Inject(Views) private readonly views: Views,
  ) {}

  @Get('status')
  @HtmlPage()
  page(): string {
    const report = this.status.report();
    return this.views.render('status', {
      title: 'Status',
      session: null,
      status: statusView(report),
    });
  }

  @Get('status.json')
  @Header('Cache-Control', 'no-store')
  json(): StatusReport {
    return this.status.report();
  }
}
