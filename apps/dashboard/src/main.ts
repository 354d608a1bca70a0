import 'reflect-metadata';
import { runService } from '@herald/platform';
import { DashboardModule } from './dashboard.module';
import { configureDashboardHttp } from './http-setup';

void runService('dashboard', (config) => DashboardModule.forConfig(config), configureDashboardHttp);
