import type { AppContext } from '../context';
import { ApiRouter } from '../http/api-router';

export function millionaireApp(ctx: AppContext): ApiRouter {
  return new ApiRouter('/millionaire', ctx.jsonLimitBytes);
}
