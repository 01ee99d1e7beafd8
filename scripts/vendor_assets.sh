#!/usr/bin/env bash
# Vendor the browser files the app serves itself, from npm packages (no CDN at run time):
#   bootstrap (css), @fontsource/noto-sans-sc (CJK web font, weights 400 and 700),
#   swagger-ui-dist (renders the API's OpenAPI document at /api/v1/docs),
# and deck.gl from the pydeck wheel installed in the venv (its standalone bundle; `window.deck`).
# Usage: vendor_assets.sh DEST PYTHON
set -euo pipefail
dest=${1:-assets/vendor}
python=${2:-.venv/bin/python}
deck=$("$python" -c 'import pathlib, pydeck; print(pathlib.Path(pydeck.__file__).parent / "nbextension/static/index.js")')
[ -s "$deck" ] || { echo "pydeck's deck.gl bundle is missing ($deck): pip install pydeck" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is needed to vendor browser files: apt-get install npm" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent bootstrap@5.3.8 @fontsource/noto-sans-sc@5.2 swagger-ui-dist@5.32 >/dev/null 2>npm.err ) \
  || { cat "$work/npm.err" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest/bootstrap" "$dest/noto-sans-sc/files"
tar xzf "$work"/bootstrap-*.tgz -C "$work" package/dist/css/bootstrap.min.css package/LICENSE
cp "$work/package/dist/css/bootstrap.min.css" "$work/package/LICENSE" "$dest/bootstrap/"
rm -rf "$work/package"
tar xzf "$work"/fontsource-noto-sans-sc-*.tgz -C "$work"
for w in 400 700; do
  cp "$work/package/$w.css" "$dest/noto-sans-sc/"
  grep -o 'files/[^)]*\.woff2' "$work/package/$w.css" | sort -u | while read -r f; do
    cp "$work/package/$f" "$dest/noto-sans-sc/files/"
  done
done
cp "$work/package/LICENSE" "$dest/noto-sans-sc/"
mkdir -p "$dest/swagger-ui"
tar xzf "$work"/swagger-ui-dist-*.tgz -C "$work" package/swagger-ui.css package/swagger-ui-bundle.js \
  package/LICENSE package/NOTICE
cp "$work"/package/{swagger-ui.css,swagger-ui-bundle.js,LICENSE,NOTICE} "$dest/swagger-ui/"
rm -rf "$work/package"
mkdir -p "$dest/deckgl"
cp "$deck" "$dest/deckgl/deck.min.js"
"$python" -c 'import pydeck; print("deck.gl bundle of pydeck", pydeck.__version__, "(MIT)")' > "$dest/deckgl/README"
echo "vendored into $dest: $(du -sh "$dest" | cut -f1)"
