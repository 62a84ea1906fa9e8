import express from 'express';
import { z } from 'zod';
import { type AppContext, errorHandler, identity, notFoundHandler, requireRole } from 'cloister/express';

/**
 * This service's block of the deployment configuration (`apps:` in cloister.config.json). The
 * enclave validates it with this schema before the app starts, so a typo is refused, not ignored.
 */
export const configSchema = z.strictObject({
  role: z.string().default('member').describe('The role a caller needs to be greeted.'),
});

export type Config = z.output<typeof configSchema>;

/**
 * The app the enclave serves: Cloister calls this with the validated block and the context (the
 * configured callers, the egress allowlist, the logger), and serves what it returns behind the
 * attested ingress. Identity comes from the headers the ingress sets; a client cannot forge them.
 */
export default function createApp(config: Config, context: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(identity());
  app.get('/hello', requireRole(config.role), (req, res) => {
    res.json({ message: `Hello, ${req.identity!.name}!`, role: req.identity!.role });
  });
  app.use(notFoundHandler());
  app.use(errorHandler(context.log));
  return app;
}
