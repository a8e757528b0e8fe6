using System.Runtime.CompilerServices;

// The tests force each instruction-set path (see GemmIsa) so the ones this machine would not pick are checked too.
[assembly: InternalsVisibleTo("FunctionalNets.Core.Tests")]
