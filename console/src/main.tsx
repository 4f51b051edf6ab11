import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { completeSignIn } from './auth';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);

// Back from the sign-in page (?code=…), the code is redeemed before the first render.
completeSignIn()
  .then(
    () =>
      root.render(
        <StrictMode>
          <App />
        </StrictMode>,
      ),
    (error: unknown) =>
      root.render(
        <StrictMode>
          <App initialError={error} />
        </StrictMode>,
      ),
  )
  .finally(() => {
    // The browser test reads this mark: the console is interactive from here.
    performance.mark('console-interactive');
    document.documentElement.dataset['ready'] = 'true';
  });
