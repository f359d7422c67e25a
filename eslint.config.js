import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'reports/**', 'bench/out/**', '.run/**', 'k6/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // The pages' scripts run in the browser (the service's page, the chaos live view), served as is.
  { files: ['services/auth/web/**/*.js', 'chaos/live/**/*.js'], languageOptions: { globals: { ...globals.browser }, sourceType: 'module' } },
);
