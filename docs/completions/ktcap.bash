# bash completion for ktcap: commands from 'ktcap --list-commands', options
# from 'ktcap COMMAND --help', so it follows the installed version.
_ktcap() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --quiet --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(ktcap --list-commands 2>/dev/null) help" -- "$cur"))
		fi
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(ktcap "$cmd" --help 2>/dev/null |
			grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _ktcap ktcap
