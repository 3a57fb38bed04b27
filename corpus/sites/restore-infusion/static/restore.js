(function(){var c=document.getElementById('cookie-notice');if(!c)return;c.querySelector('button').onclick=function(){c.remove();};})();
