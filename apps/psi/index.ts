import type { AppContext } from '../context';
import { ApiRouter } from '../http/api-router';

export function psiApp(ctx: AppContext): ApiRouter {
  return new ApiRouter('/psi', ctx.jsonLimitBytes);
}
