// Flat ESLint config: typescript-eslint's recommended rules for every TypeScript file.
// Formatting is prettier's job (.prettierrc); no stylistic rules here, so the two never disagree.
// (@eslint/js is not a dependency, so ESLint's own `recommended` set is not included.)
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.cache/',
      'runs/',
      'test-output/',
      'tmp-*/',
      'coverage/',
      '**/*.d.ts',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      // `_`-prefixed names are deliberately unused (required positional parameters)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // tfjs' kernel and layer APIs need `any`/casts at a few seams; flag, don't fail
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
);
